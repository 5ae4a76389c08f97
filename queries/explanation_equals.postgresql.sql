SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, (SELECT ex.formula 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id 
 LIMIT %(param_1)s::INTEGER) AS explanation 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND (SELECT ex.formula 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id 
 LIMIT %(param_2)s::INTEGER) = %(param_3)s::VARCHAR ORDER BY model.name COLLATE "C", neuron.site COLLATE "C", neuron.layer, neuron.unit 
 LIMIT %(param_4)s::INTEGER
-- parameters: {'param_1': 1, 'model_id_1': 3, 'site_1': 'mlp', 'param_2': 1, 'param_3': 'proper_noun or noun and not plural', 'param_4': 101}
