SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = %(site_1)s::VARCHAR AND (EXISTS (SELECT lb.id 
FROM note AS lb 
WHERE lb.neuron_id = neuron.id AND lb.label = %(param_1)s::VARCHAR)) ORDER BY model.name COLLATE "C", neuron.site COLLATE "C", neuron.layer, neuron.unit 
 LIMIT %(param_2)s::INTEGER
-- parameters: {'model_id_1': [3, 1], 'site_1': 'mlp', 'param_1': 'negation detector', 'param_2': 101}
