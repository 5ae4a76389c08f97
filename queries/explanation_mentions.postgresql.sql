SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, (SELECT ex.formula 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id 
 LIMIT %(param_1)s::INTEGER) AS explanation 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND (%(param_2)s::VARCHAR || replace(replace((SELECT ex.formula 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id 
 LIMIT %(param_3)s::INTEGER), %(replace_1)s::VARCHAR, %(replace_2)s::VARCHAR), %(replace_3)s::VARCHAR, %(replace_4)s::VARCHAR) || %(param_4)s::VARCHAR) LIKE %(param_5)s::VARCHAR ESCAPE '\' ORDER BY model.name COLLATE "C", neuron.site COLLATE "C", neuron.layer, neuron.unit 
 LIMIT %(param_6)s::INTEGER
-- parameters: {'param_1': 1, 'model_id_1': 3, 'site_1': 'mlp', 'param_2': ' ', 'param_3': 1, 'replace_1': '(', 'replace_2': ' ', 'replace_3': ')', 'replace_4': ' ', 'param_4': ' ', 'param_5': '% negation %', 'param_6': 101}
